"""Console staff: accounts with a role (``groupbot user …``), their passwords (argon2) and
their server-side sessions. The web side (sign-in, role checks, anti-forgery, audit actor) is
``bot.web.staff``."""
