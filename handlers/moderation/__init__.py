"""Pure text checks for group rules: banned words, ads, flood."""
