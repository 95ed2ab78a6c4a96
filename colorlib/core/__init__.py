"""The bottom layer, used by every other part: named constants (config), run parameters (params),
"already done" step records (steps) and safe file writes (io).
"""
