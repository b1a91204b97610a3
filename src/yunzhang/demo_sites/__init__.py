"""Demo business systems (示范业务系统) served under /demo/: a bidding portal (招投标) and a
social-insurance filing system (社保申报), built only on ``yunzhang.sdk`` and calling the
platform over HTTP like any other business system."""
