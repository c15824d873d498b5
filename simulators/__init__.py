"""Loopback simulators of the paid outside services duoduo talks to.

They are the only test doubles the project allows: real HTTP servers on
127.0.0.1 that check request signatures, sign their answers and walk the
vendors' state sequences, so the production client code is exercised as is
and only its base URL differs.
"""
