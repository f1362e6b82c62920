"""The kernel: settings, database, identity, tokens, the audit ledger, app assembly, CLI."""
