"""Reputation: feedback each party of an ended order leaves once, signed by their wallet."""
