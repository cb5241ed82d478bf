"""Reading, mapping, validating and writing KPI files from help desks.

parsing.py turns raw text into dates and numbers, mapping.py decides which column means what,
validation.py streams a file into valid rows and row-level errors, importing.py writes them.
"""
