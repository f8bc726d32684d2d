package mail

import "errors"

// ErrNotConfigured means a Resend sender was built without RESEND_API_KEY or
// RESEND_DEFAULT_FROM (spec: auth-and-keys.md §1.3, §17).
var ErrNotConfigured = errors.New("mail: Resend needs an API key and a from address")

// ErrDelivery is wrapped by every failed send: the transport failed or Resend refused
// the message (spec: auth-and-keys.md §10.2 step 4, §18.4 note 22).
var ErrDelivery = errors.New("mail: delivery failed")
