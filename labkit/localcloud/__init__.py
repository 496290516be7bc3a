"""The local cloud: one background process hosting moto and labkit's data plane on 127.0.0.1."""
