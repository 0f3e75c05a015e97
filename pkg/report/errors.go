package report

import "errors"

// ErrUnknownFormat is returned for an output format ward does not have.
var ErrUnknownFormat = errors.New("unknown output format")
