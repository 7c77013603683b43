"""Component instances of this project: `dg scaffold defs gsc_assets.SearchConsoleComponent <name>`
writes `<name>/defs.yaml` here, and `gsc_assets.definitions` loads every one of them."""
