"""Nodes: the permissioned network as NodeRegistry records it (admission flow: own issue)."""
