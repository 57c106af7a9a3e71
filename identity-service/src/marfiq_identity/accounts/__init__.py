"""People who sign in: citizens, agents of administrations, platform administrators."""
