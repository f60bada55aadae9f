-- The same GET for both servers of the queue-status benchmark: the ticket
-- of a waiting visitor as a bearer token (the hello-world server ignores it).
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TICKET") or "none")
wrk.headers["Accept"] = "application/json"

