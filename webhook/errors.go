package webhook

import "errors"

// ErrNoRequest is returned for an AdmissionReview without a request, or with a request
// that lacks its uid, kind or operation.
var ErrNoRequest = errors.New("admission review has no request")

// ErrNoObject is returned for a request without the object it is about: object on
// CREATE and UPDATE, oldObject on DELETE.
var ErrNoObject = errors.New("admission request has no object")

// ErrBadObject is returned for an object that is not a JSON object.
var ErrBadObject = errors.New("admission request object is not a JSON object")

// ErrOverrun is returned when evaluation did not finish before its deadline.
var ErrOverrun = errors.New("evaluation overran its deadline")

// ErrNotSynced is the readiness error until the cluster inventory has synced.
var ErrNotSynced = errors.New("cluster inventory has not synced yet")
