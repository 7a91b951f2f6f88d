"""Deduplication: MinHash LSH clustering (lsh), repeats inside a document (inner)."""

from .lsh import (
    MAX_BUCKET,
    VERIFY_MARGIN,
    Assignment,
    BucketFinder,
    Buckets,
    band_keys,
    candidate_probability,
    choose_bands,
    close_bucket_pairs,
    cluster,
    local_buckets,
)

__all__ = ["MAX_BUCKET", "VERIFY_MARGIN", "Assignment", "BucketFinder", "Buckets", "band_keys",
           "candidate_probability", "choose_bands", "close_bucket_pairs", "cluster", "local_buckets"]
