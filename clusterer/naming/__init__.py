"""Names: known people from photos, and the folders a user renamed or moved crops between."""
