"""The chain layer: deployment manifest, contracts, log decoding and the indexer."""
