"""Call backends. The engine drives them only through `outdial.telephony.base.Telephony`."""
