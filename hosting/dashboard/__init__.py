"""The operators' dashboard's services: accounts, its pages' queries, its actions (served by web.dashboard)."""
