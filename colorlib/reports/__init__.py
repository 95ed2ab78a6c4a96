"""What people look at: figures (viz), metric charts (charts), before/after sliders (slider), the
photos they show (gallery), short texts (summaries) and the notebooks as HTML pages (htmlreport).
"""
