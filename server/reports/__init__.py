"""Reports (rider clues, resident issues), categories, work orders and their timeline."""
