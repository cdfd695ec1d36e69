"""Where protobuf meets the domain: names, conversions, page tokens, errors, servicers."""
