"""The staff console at ``/console/``: the pages stewards, requesters, approvers, auditors and
administrators work in. Every page calls the same services as the API; no rule lives here."""
