"""The compiled kernels of the Hamming engine (numba, ``parallel=True``, ``cache=True``).

Codes arrive as ``uint64`` words: queries row-major ``(n_queries, n_words)``, the database
word-major ``(n_words, n_db)`` so that the innermost loop, over database items, is contiguous
and vectorises (popcount by ``llvm.ctpop``). Every kernel runs one query per thread iteration
and keeps only per-query buffers of at most a few bytes per database item: nothing of size
queries x database is ever allocated, except by :func:`distance_matrix`, whose output is that.
"""

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

# Database items per distance buffer: small enough for L1/L2, large enough to vectorise.
_CHUNK = 4096
# rank_statistics packs two counts in an int64: items above bit 32, relevant items below.
_ONE_ITEM = np.int64(1) << 32
_LOW = (np.int64(1) << 32) - 1


@intrinsic
def popcount(typingctx, x):
    """The number of set bits of a uint64, as the CPU's popcount instruction."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        ctpop = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(ctpop, args)

    return sig, codegen


@njit(cache=True, inline="always")
def _chunk_distances(query, db_t, start, stop, out):
    """Distances of one query to the database items ``start:stop``, into ``out[:stop-start]``."""
    word = query[0]
    for j in range(start, stop):
        out[j - start] = popcount(word ^ db_t[0, j])
    for w in range(1, query.shape[0]):
        word = query[w]
        for j in range(start, stop):
            out[j - start] += popcount(word ^ db_t[w, j])


@njit(cache=True, inline="always")
def _chunk_minimum(buffer, n):
    """The smallest of the first ``n`` distances: a vectorised reduction that lets a search
    skip a whole chunk in which no item can qualify."""
    smallest = buffer[0]
    for t in range(1, n):
        smallest = min(smallest, buffer[t])
    return smallest


@njit(parallel=True, cache=True)
def distance_matrix(query, db_t, out):
    """Fill ``out[i, j]`` with the Hamming distance of query ``i`` to database item ``j``."""
    n_db = db_t.shape[1]
    for i in prange(query.shape[0]):
        row = out[i]
        word = query[i, 0]
        for j in range(n_db):
            row[j] = popcount(word ^ db_t[0, j])
        for w in range(1, query.shape[1]):
            word = query[i, w]
            for j in range(n_db):
                row[j] += popcount(word ^ db_t[w, j])


@njit(cache=True)
def _keep_best(distances, indices, n, k, counts):
    """Keep, in place and in order, the ``k`` best of ``n`` candidates ranked by (distance,
    index), given in increasing index order; return ``(n_kept, threshold)``.

    Only a later item nearer than the threshold can still enter: one at the boundary distance
    has a larger index than every kept item of that distance.
    """
    if n <= k:
        return n, counts.shape[0] - 1
    counts[:] = 0
    for t in range(n):
        counts[distances[t]] += 1
    boundary, before = 0, 0
    while before + counts[boundary] < k:
        before += counts[boundary]
        boundary += 1
    taken = k - before
    kept = 0
    for t in range(n):
        d = distances[t]
        if d < boundary or (d == boundary and taken > 0):
            if d == boundary:
                taken -= 1
            distances[kept] = d
            indices[kept] = indices[t]
            kept += 1
    return kept, np.int64(boundary) - 1


@njit(cache=True)
def _order_by_distance(distances, indices, n, n_buckets, out_distances, out_indices):
    """Counting sort of ``n`` candidates by distance, stable in their (index) order."""
    starts = np.zeros(n_buckets + 1, np.int64)
    for t in range(n):
        starts[distances[t] + 1] += 1
    for b in range(n_buckets):
        starts[b + 1] += starts[b]
    for t in range(n):
        d = distances[t]
        out_distances[starts[d]] = d
        out_indices[starts[d]] = indices[t]
        starts[d] += 1


@njit(parallel=True, cache=True)
def kneighbors(query, db_t, n_bits, k, out_distances, out_indices):
    """Exact ``k`` nearest database items of every query, ranked by (distance, index).

    One pass over the database per query: an item enters the candidate buffer only when it is
    nearer than the current ``k``-th best, and the buffer is cut back to the ``k`` best
    whenever it fills, so the scan is a compare per item after the first few thousand.
    """
    n_db = db_t.shape[1]
    capacity = max(4 * k, 1024)
    for i in prange(query.shape[0]):
        buffer = np.empty(_CHUNK, np.uint16)
        distances = np.empty(capacity, np.uint16)
        indices = np.empty(capacity, np.int64)
        counts = np.zeros(n_bits + 1, np.int64)
        n, threshold = 0, np.int64(n_bits)
        for start in range(0, n_db, _CHUNK):
            stop = min(start + _CHUNK, n_db)
            _chunk_distances(query[i], db_t, start, stop, buffer)
            if np.int64(_chunk_minimum(buffer, stop - start)) > threshold:
                continue
            for t in range(stop - start):
                if np.int64(buffer[t]) <= threshold:
                    distances[n] = buffer[t]
                    indices[n] = start + t
                    n += 1
                    if n == capacity:
                        n, threshold = _keep_best(distances, indices, n, k, counts)
        n, threshold = _keep_best(distances, indices, n, k, counts)
        _order_by_distance(distances, indices, n, n_bits + 1, out_distances[i], out_indices[i])


@njit(cache=True, inline="always")
def _within(query, db_t, radius, buffer, distances, indices):
    """Scan the database for one query: the items within ``radius``, in index order, fill
    ``distances`` / ``indices`` up to their length; return how many there are in all."""
    n_db = db_t.shape[1]
    capacity = distances.shape[0]
    n = 0
    for start in range(0, n_db, _CHUNK):
        stop = min(start + _CHUNK, n_db)
        _chunk_distances(query, db_t, start, stop, buffer)
        if _chunk_minimum(buffer, stop - start) > radius:
            continue
        for t in range(stop - start):
            if buffer[t] <= radius:
                if n < capacity:
                    distances[n] = buffer[t]
                    indices[n] = start + t
                n += 1
    return n


@njit(parallel=True, cache=True)
def radius_capped(query, db_t, radius, sizes, out_distances, out_indices):
    """One pass: ``sizes[i]`` items within ``radius`` of query ``i``, and, when they fit in
    the ``out_distances.shape[1]`` columns, all of them ordered by distance then index in row
    ``i``. Rows whose size exceeds the capacity are incomplete; :func:`radius_fill` redoes them."""
    capacity = out_distances.shape[1]
    for i in prange(query.shape[0]):
        buffer = np.empty(_CHUNK, np.uint16)
        distances = np.empty(capacity, np.uint16)
        indices = np.empty(capacity, np.int64)
        n = _within(query[i], db_t, radius, buffer, distances, indices)
        sizes[i] = n
        if n <= capacity:
            _order_by_distance(distances, indices, n, radius + 1, out_distances[i], out_indices[i])


@njit(parallel=True, cache=True)
def radius_fill(query, db_t, radius, lims, out_distances, out_indices):
    """Write the items within ``radius`` of query ``i`` into ``lims[i]:lims[i + 1]``, ordered
    by distance, then index."""
    for i in prange(query.shape[0]):
        buffer = np.empty(_CHUNK, np.uint16)
        first, last = lims[i], lims[i + 1]
        distances = np.empty(last - first, np.uint16)
        indices = np.empty(last - first, np.int64)
        n = _within(query[i], db_t, radius, buffer, distances, indices)
        _order_by_distance(
            distances, indices, n, radius + 1, out_distances[first:last], out_indices[first:last]
        )


@njit(cache=True, inline="always")
def _chunk_relevance(
    i, query_labels, db_labels_t, mode, db_indptr, db_indices, mark, start, stop, out
):  # noqa: E501
    """Relevance of the items ``start:stop`` to query ``i``: equal ids (``mode=0``, one
    column), a shared label bit in any word (``mode=1``), or, for sparse labels (``mode=2``),
    a class of the item that ``mark`` holds for the query."""
    if mode == 0:
        label = query_labels[i, 0]
        for j in range(start, stop):
            out[j - start] = db_labels_t[0, j] == label
        return
    if mode == 2:
        for j in range(start, stop):
            hit = np.uint8(0)
            for p in range(db_indptr[j], db_indptr[j + 1]):
                hit |= mark[db_indices[p]]
            out[j - start] = hit
        return
    word = query_labels[i, 0]
    for j in range(start, stop):
        out[j - start] = (word & db_labels_t[0, j]) != 0
    for w in range(1, query_labels.shape[1]):
        word = query_labels[i, w]
        for j in range(start, stop):
            out[j - start] |= (word & db_labels_t[w, j]) != 0


@njit(cache=True, inline="always")
def _ranked(count, relevant_count, item_bucket, item_before, n_relevant, depth, ks, hits):
    """AP over the ``depth`` best-ranked items, and the cumulative ``hits`` at the cut-offs
    ``ks``, of one query whose relevant items are ``(bucket, (position, relevant before) in
    it)``: an item's rank is the items of nearer buckets plus its position in its own."""
    n_buckets = count.shape[0]
    starts = np.zeros(n_buckets, np.int64)
    relevant_starts = np.zeros(n_buckets, np.int64)
    for b in range(1, n_buckets):
        starts[b] = starts[b - 1] + count[b - 1]
        relevant_starts[b] = relevant_starts[b - 1] + relevant_count[b - 1]
    total, inside = 0.0, 0
    for t in range(n_relevant):
        d = item_bucket[t]
        rank = starts[d] + (item_before[t] >> 32) + 1
        if rank <= depth:
            total += (relevant_starts[d] + (item_before[t] & _LOW) + 1) / rank
            inside += 1
        if ks.shape[0]:
            c = np.searchsorted(ks, rank)
            if c < ks.shape[0]:
                hits[c] += 1
    for c in range(1, ks.shape[0]):
        hits[c] += hits[c - 1]
    return total / inside if inside else 0.0


@njit(parallel=True, cache=True)
def rank_statistics(
    query, db_t, query_labels, db_labels_t, mode, sparse_labels, n_bits, depth, ks, counts,
    relevant_counts, ap, hits, n_blocks,
):  # fmt: skip
    """One pass per query that yields everything the metrics need.

    - ``counts[i, d]`` and ``relevant_counts[i, d]``: items, and relevant items, at distance
      ``d`` (the histogram behind PR curves, radius precision and every ``"expected"`` metric);
    - ``ap[i]``: AP over the ``depth`` best-ranked items with ties in database order, normalised
      by the relevant items among them;
    - ``hits[i, c]``: relevant items among the ``ks[c]`` best-ranked (``ks`` ascending).

    Relevance is equal ids (``mode=0``), shared bits of label words (``mode=1``), or shared
    classes of sparse labels (``mode=2``): ``sparse_labels`` is then ``(query_indptr,
    query_indices, db_indptr, db_indices, n_classes)`` of two CSR matrices.

    An item's rank is the number of items in nearer buckets plus its position within its own
    bucket, which the scan knows when it meets the item; the nearer buckets are known only at
    the end, so each relevant item keeps ``(distance, position, relevant before it in its
    bucket)`` until then. Pass an empty ``ks`` (or ``depth=0``) to skip that part. The
    queries run in ``n_blocks`` blocks (a few per thread).
    """
    n_db = db_t.shape[1]
    n_buckets = n_bits + 1
    n_queries = query.shape[0]
    # Blocks of queries, each with buffers allocated once: a fresh buffer of n_db items per
    # query would cost its page faults every time.
    n_blocks = min(n_queries, n_blocks)
    for block in prange(n_blocks):
        buffer = np.empty(_CHUNK, np.uint16)
        relevant = np.empty(_CHUNK, np.uint8)
        # One counter per bucket: items in the high 32 bits, relevant items in the low ones,
        # so that an item costs one add, and the counter before it is its (position,
        # relevant before it) in its bucket.
        both = np.empty(n_buckets, np.int64)
        item_bucket = np.empty(n_db + 1, np.uint16)
        item_before = np.empty(n_db + 1, np.int64)
        query_indptr, query_indices, db_indptr, db_indices, n_classes = sparse_labels
        mark = np.zeros(n_classes, np.uint8)
        for i in range(block * n_queries // n_blocks, (block + 1) * n_queries // n_blocks):
            both[:] = 0
            n_relevant = 0
            if mode == 2:
                for p in range(query_indptr[i], query_indptr[i + 1]):
                    mark[query_indices[p]] = 1
            for start in range(0, n_db, _CHUNK):
                stop = min(start + _CHUNK, n_db)
                _chunk_distances(query[i], db_t, start, stop, buffer)
                _chunk_relevance(
                    i, query_labels, db_labels_t, mode, db_indptr, db_indices, mark, start,
                    stop, relevant,
                )  # fmt: skip
                for t in range(stop - start):
                    # Branch-free: every item is written, only relevant ones are kept.
                    d = buffer[t]
                    before = both[d]
                    item_bucket[n_relevant] = d
                    item_before[n_relevant] = before
                    both[d] = before + _ONE_ITEM + relevant[t]
                    n_relevant += relevant[t]
            if mode == 2:
                for p in range(query_indptr[i], query_indptr[i + 1]):
                    mark[query_indices[p]] = 0
            count = counts[i]
            relevant_count = relevant_counts[i]
            for b in range(n_buckets):
                count[b] = both[b] >> 32
                relevant_count[b] = both[b] & _LOW
            if depth == 0 and ks.shape[0] == 0:
                continue
            ap[i] = _ranked(
                count, relevant_count, item_bucket, item_before, n_relevant, depth, ks, hits[i]
            )
