"""Notifications: pushes to a user's open pages when their orders change."""
