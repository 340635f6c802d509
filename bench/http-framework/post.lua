-- wrk script: POST /users/42 with a valid JSON body.
wrk.method = "POST"
wrk.path = "/users/42"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"ada","age":36}'
