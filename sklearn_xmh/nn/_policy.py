"""The health figures of UGACH's generator: whether its policy plays."""

import numpy as np
import torch


def policy_health(net, preprocessed, *, n_queries, pool_size, random_state):
    """Entropy of the generator's policy relative to uniform, and how often its picks are
    graph positives, against the rate of positives in its pools."""
    rng = random_state
    views = {"image": preprocessed("image"), "text": preprocessed("text")}
    n_samples = views["image"].shape[0]
    if n_samples != net.neighbors_.shape[0]:
        raise ValueError(
            f"The generator's policy is measured on the training views, in training order: got "
            f"{n_samples} pairs, the correlation graph holds {net.neighbors_.shape[0]}."
        )
    size = pool_size or net.pool_size or max(2, n_samples // 50)
    size = int(min(size, n_samples))
    queries = rng.choice(n_samples, size=min(n_queries, n_samples), replace=False)
    entropies, picked, base = [], [], []
    generator = net.generator_.eval()
    device = next(generator.parameters()).device
    neighbors = net.neighbors_[queries]
    # Rows are padded with copies of their first neighbour beyond n_distinct_.
    distinct = np.arange(neighbors.shape[1])[None, :] < net.n_distinct_[queries][:, None]
    with torch.no_grad():
        for query_view, item_view in (("image", "text"), ("text", "image")):
            pool = rng.choice(n_samples, size=size, replace=False)
            query = generator.encode(
                query_view, torch.as_tensor(views[query_view][queries], device=device)
            )
            items = generator.encode(
                item_view, torch.as_tensor(views[item_view][pool], device=device)
            )
            logits = -((query[:, None, :] - items[None, :, :]) ** 2).sum(-1)
            probabilities = torch.softmax(logits.double(), dim=1).cpu().numpy()
            log_p = np.log(np.maximum(probabilities, 1e-300))
            entropies.append(-(probabilities * log_p).sum(axis=1))
            # One pick per query from its policy, by inverse transform sampling.
            draw = rng.random(len(queries))[:, None]
            choice = np.minimum((np.cumsum(probabilities, axis=1) < draw).sum(axis=1), size - 1)
            picked.append(((neighbors == pool[choice][:, None]) & distinct).any(axis=1))
            in_pool = np.zeros(n_samples, dtype=bool)
            in_pool[pool] = True
            base.append((in_pool[neighbors] & distinct).sum(axis=1) / size)
    return {
        "policy_entropy_ratio": float(np.mean(entropies) / np.log(size)),
        "generator_positive_rate": float(np.mean(picked)),
        "pool_positive_rate": float(np.mean(base)),
        "pool_size": size,
    }
