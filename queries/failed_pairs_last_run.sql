-- Account × region pairs the latest run could not scan, and why.
SELECT account_id,
       account_name,
       region,
       status,
       errors
FROM pairs
WHERE run_id = (SELECT max_by(run_id, run_started_at) FROM pairs)
  AND status = 'failed'
ORDER BY account_id, region
