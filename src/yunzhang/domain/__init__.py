"""Pure rules and values of yunzhang: no web, database or crypto library is imported here."""
