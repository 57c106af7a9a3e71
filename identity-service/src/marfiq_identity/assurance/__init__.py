"""Assurance of who a person is: contacts an authority ties to a CIN, in-person checks."""
