"""Use cases: each opens one unit of work, applies the domain's rules and calls repositories.

Services take and return domain types; they know nothing of gRPC or protobuf.
"""
