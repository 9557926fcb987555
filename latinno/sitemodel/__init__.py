"""Our model of the LATINNO site, which nobody here can reach: the fixture case specs (cases,
spec) and their expected records (expected), page rendering in three markup styles (render,
chrome, labels, texts), a full-size generated site (generate), and the site server with fault
injection, hostile pages and redesigns (server; ``latinno site serve``). It knows nothing of the
pipeline: it imports only the base modules of ``latinno``."""
