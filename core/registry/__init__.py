"""Registry services over the store: task versions, environments and jobs (SPEC §1, §3, §6).

Front ends call these functions with an open `core.store.Store`; they validate
what a user gave, write snapshots through `core.store.files`, and raise
`core.errors.UsageError` with one plain sentence for anything a user can fix.
"""
