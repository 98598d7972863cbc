from django.urls import path

from tongban.accounts import user_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("otp/", views.otp_view, name="otp"),
    path("otp/setup/", views.otp_setup_view, name="otp_setup"),
    path("password/set/", views.password_set_view, name="password_set"),
    # 账号管理 (administrators). The form for a new account is outside users/ so that no
    # username can shadow it.
    path("users/", user_views.user_list, name="users"),
    path("new-user/", user_views.user_create, name="user_create"),
    path("users/<str:username>/", user_views.user_detail, name="user_detail"),
    path("users/<str:username>/deactivate/", user_views.user_deactivate, name="user_deactivate"),
    path("users/<str:username>/reactivate/", user_views.user_reactivate, name="user_reactivate"),
    path(
        "users/<str:username>/reset-second-factor/",
        user_views.user_reset_second_factor,
        name="user_reset_second_factor",
    ),
    path("users/<str:username>/reset-password/", user_views.user_reset_password, name="user_reset_password"),
]
