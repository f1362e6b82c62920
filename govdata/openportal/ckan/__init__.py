"""The CKAN Action API (CONTRACTS.md §2) over the open portal's and the catalog's services:
``api`` (routes, input, envelope, errors), ``packages`` (the package, resource and
organization dicts, and a package dict read back into catalog fields), ``read`` and
``write`` (the actions), ``datastore`` (datastore_search, datastore_info, dumps)."""
