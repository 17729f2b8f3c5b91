"""``python -m cardsvc.jobs work``: a job worker without the web app."""

from cardsvc.jobs.cli import jobs_group

if __name__ == "__main__":
    jobs_group(prog_name="python -m cardsvc.jobs")
