"""The aggregation engine: crowd votes on lines -> posteriors, reliabilities, rewards.

Everything works on compact numpy arrays (see :class:`~crlhf.engine.votes.VoteSet`);
no function loops over votes in Python.
"""
