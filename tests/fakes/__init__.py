"""Local HTTP fakes of the Twilio and SendGrid APIs, driven by the real SDKs in tests."""
