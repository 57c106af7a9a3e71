"""NFC eID sign-in (ICAO 9303): Passive and Active Authentication, the MRZ, the challenge."""
