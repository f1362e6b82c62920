"""开放平台: public datasets, downloads, the CKAN Action API, DCAT and data.json."""
