"""Mail registers: one numbered sequence per administration, year and direction."""
