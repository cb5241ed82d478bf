"""SCIM 2.0 (RFC 7643/7644) at /scim/v2/t/<slug>/: models and filters from scim2-models and
scim2-filter-parser; storage and CoachHub's side effects in `coachhub.identity.services`."""
