# gunicorn -c deploy/gunicorn.conf.py tongban.wsgi
# Two workers per core is plenty: the work is database-bound. Threads share the PostgreSQL pool.
import multiprocessing

bind = "127.0.0.1:8001"
workers = multiprocessing.cpu_count() * 2
threads = 4
timeout = 60
graceful_timeout = 30
max_requests = 2000  # recycle workers to bound memory
max_requests_jitter = 200
accesslog = "-"
# The default format logs the full URL; ours never carries ID numbers (lookups are POSTs).
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'
