"""Records, their Arrow form, signatures and errors: what every other package builds on (imports nothing of workbench)."""
