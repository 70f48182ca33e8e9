"""The pure core: the document model, patches, merging, history replay, blame, revert, settings.

It does no I/O and imports nothing outside the standard library, diff-match-patch and itself.
"""
