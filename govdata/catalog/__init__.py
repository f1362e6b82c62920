"""政务信息资源目录: resources, data items, lists, search, and the typed datastore."""
