"""The market: ads and orders as the chain says they are, with search and stats."""
