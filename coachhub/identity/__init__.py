"""Enterprise identity: SCIM 2.0 provisioning per tenant (and, later, single sign-on)."""
