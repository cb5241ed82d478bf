"""Real stand-ins for the outside things CoachHub talks to (see STYLE.md: don't mock what we own)."""
