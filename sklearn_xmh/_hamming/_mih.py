"""Multi-index hashing: exact sub-linear Hamming search (Norouzi, Punjani and Fleet, CVPR 2012).

Each code is cut into ``m`` disjoint substrings, and every substring indexes a hash table (here a
counting-sorted array: ``offsets[t, key]`` to ``offsets[t, key + 1]`` in ``ids[t]``). By the
pigeonhole principle, a code within distance ``r`` of a query is within ``r // m`` of it on at
least one substring, so probing each table at growing substring radii finds every neighbour:

- **radius search** probes every table at substring radii ``0 .. r // m``;
- **k-NN** grows the substring radius ``s`` one table at a time; after table ``t`` at radius
  ``s``, an item not yet found differs from the query by more than ``s`` on tables ``0..t`` and
  by at least ``s`` on the others, so every item within ``m * s + t`` has been found, and the
  search stops once ``k`` of those are known.

An item reached through several tables is counted once, where it is first reached: at the
smallest substring distance, in the first table that has it. The substrings are contiguous
ranges of the packed words' bits; padding bits are zero in every code and add no distance.
"""

import numpy as np
from numba import njit, prange

from ._kernels import popcount


def substring_bounds(n_substrings, n_bytes):
    """``(starts, lengths)`` of ``n_substrings`` near-equal contiguous bit ranges covering the
    ``8 * n_bytes`` bits of packed codes seen as uint64 words."""
    n_bits = 8 * n_bytes
    lengths = np.full(n_substrings, n_bits // n_substrings, dtype=np.int64)
    lengths[: n_bits % n_substrings] += 1
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return starts, lengths


@njit(cache=True, inline="always")
def _key(row, start, length):
    word, offset = start >> 6, start & 63
    value = row[word] >> np.uint64(offset)
    if offset + length > 64:
        value |= row[word + 1] << np.uint64(64 - offset)
    return value & ((np.uint64(1) << np.uint64(length)) - np.uint64(1))


@njit(cache=True)
def _keys(row, starts, lengths):
    """The substring keys of one code."""
    keys = np.empty(starts.shape[0], np.uint64)
    for t in range(starts.shape[0]):
        keys[t] = _key(row, starts[t], lengths[t])
    return keys


@njit(parallel=True, cache=True)
def build_tables(codes, starts, lengths, offsets, ids):
    """Counting-sort every code into each substring's table: ``offsets`` (m, 2**max_len + 1)
    and ``ids`` (m, n) are filled."""
    n = codes.shape[0]
    for t in prange(starts.shape[0]):
        keys = np.empty(n, np.int64)
        for j in range(n):
            keys[j] = _key(codes[j], starts[t], lengths[t])
            offsets[t, keys[j] + 1] += 1
        for b in range(1, offsets.shape[1]):
            offsets[t, b] += offsets[t, b - 1]
        position = offsets[t].copy()
        for j in range(n):
            ids[t, position[keys[j]]] = j
            position[keys[j]] += 1


@njit(cache=True, inline="always")
def _first_reached(query_keys, code, starts, lengths, table, radius):
    """Whether a code found in ``table`` at substring distance ``radius`` is first reached
    there: no earlier table within ``radius``, no later one within ``radius - 1``."""
    for u in range(starts.shape[0]):
        if u == table:
            continue
        d = popcount(query_keys[u] ^ _key(code, starts[u], lengths[u]))
        if d < radius or (u < table and d == radius):
            return False
    return True


@njit(cache=True, inline="always")
def _distance(query, code):
    d = 0
    for w in range(query.shape[0]):
        d += popcount(query[w] ^ code[w])
    return d


@njit(cache=True)
def _next_mask(mask):
    """The next larger integer with as many set bits (Gosper's hack)."""
    lowest = mask & -mask
    ripple = mask + lowest
    return ripple | (((mask ^ ripple) >> 2) // lowest)


@njit(cache=True)
def _probe(query, query_keys, codes, starts, lengths, offsets, ids, table, radius, out_d, out_j, n):
    """Append to ``out_d`` / ``out_j`` (growing them) every code first reached in ``table`` at
    substring distance ``radius``; return ``(out_d, out_j, n)``."""
    length = lengths[table]
    if radius > length:
        return out_d, out_j, n
    mask = (np.int64(1) << radius) - 1
    limit = np.int64(1) << length
    while mask < limit:
        key = np.int64(query_keys[table]) ^ mask
        for p in range(offsets[table, key], offsets[table, key + 1]):
            j = ids[table, p]
            if _first_reached(query_keys, codes[j], starts, lengths, table, radius):
                if n == out_d.shape[0]:
                    grown_d = np.empty(2 * n, out_d.dtype)
                    grown_j = np.empty(2 * n, out_j.dtype)
                    grown_d[:n] = out_d
                    grown_j[:n] = out_j
                    out_d, out_j = grown_d, grown_j
                out_d[n] = _distance(query, codes[j])
                out_j[n] = j
                n += 1
        if mask == 0:
            break
        mask = _next_mask(mask)
    return out_d, out_j, n


@njit(cache=True)
def _best(found_d, found_j, n, k, n_db, out_d, out_j):
    """The ``k`` best of ``n`` found codes by (distance, index), into ``out_d`` / ``out_j``."""
    order = np.argsort(found_d[:n].astype(np.int64) * n_db + found_j[:n])
    for r in range(min(k, n)):
        out_d[r] = found_d[order[r]]
        out_j[r] = found_j[order[r]]


@njit(parallel=True, cache=True)
def kneighbors(query, codes, starts, lengths, offsets, ids, n_bits, k, out_d, out_j):
    """Exact ``k`` nearest codes of every query by multi-index hashing, ties by index."""
    m = starts.shape[0]
    n_db = codes.shape[0]
    longest = lengths.max()
    for i in prange(query.shape[0]):
        query_keys = _keys(query[i], starts, lengths)
        found_d = np.empty(max(4 * k, 64), np.int64)
        found_j = np.empty(found_d.shape[0], np.int64)
        counts = np.zeros(n_bits + 1, np.int64)
        n, done = 0, False
        for radius in range(longest + 1):
            for t in range(m):
                before = n
                found_d, found_j, n = _probe(
                    query[i], query_keys, codes, starts, lengths, offsets, ids, t, radius,
                    found_d, found_j, n,
                )  # fmt: skip
                for r in range(before, n):
                    counts[found_d[r]] += 1
                within = 0
                for d in range(min(m * radius + t, n_bits) + 1):
                    within += counts[d]
                if within >= k:
                    done = True
                    break
            if done:
                break
        _best(found_d, found_j, n, k, n_db, out_d[i], out_j[i])


@njit(parallel=True, cache=True)
def radius_search(query, codes, starts, lengths, offsets, ids, radius, sizes, out_d, out_j, lims):
    """Every code within ``radius`` of each query. With ``lims`` empty only ``sizes`` is filled;
    given ``lims``, the results are written ordered by query, distance and index."""
    m = starts.shape[0]
    n_db = codes.shape[0]
    for i in prange(query.shape[0]):
        query_keys = _keys(query[i], starts, lengths)
        found_d = np.empty(64, np.int64)
        found_j = np.empty(64, np.int64)
        n = 0
        for s in range(radius // m + 1):
            for t in range(m):
                found_d, found_j, n = _probe(
                    query[i], query_keys, codes, starts, lengths, offsets, ids, t, s,
                    found_d, found_j, n,
                )  # fmt: skip
        kept = 0
        for r in range(n):
            if found_d[r] <= radius:
                found_d[kept] = found_d[r]
                found_j[kept] = found_j[r]
                kept += 1
        if lims.shape[0] == 0:
            sizes[i] = kept
            continue
        start = lims[i]
        stop = start + kept
        _best(found_d, found_j, kept, kept, n_db, out_d[start:stop], out_j[start:stop])
