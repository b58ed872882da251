"""Machine annotators: checkers whose line votes join the crowd's, weighed like people's."""
