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
# The request line is logged with its query string. Pages never put an ID number in a URL (lookups
# and list searches are POSTs), but an API client may search a list by number (`?q=`): the same
# filter as the application's own log lines masks them (on_starting, below).
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'


def on_starting(server):  # gunicorn's hook: before the workers start
    import logging

    from tongban.core.logging import MaskPersonalData

    logging.getLogger("gunicorn.access").addFilter(MaskPersonalData())
